// Who signs: a browser wallet (any EIP-1193 provider) or, on a test chain, a demo wallet holding one of the
// demo homes' well-known test keys. The page asks the signer for SIWE messages and EIP-712 orders only.
import { mnemonicToSeedSync } from '@scure/bip39';
import {
  createWalletClient,
  custom,
  type Address,
  type EIP1193Provider,
  type Hex,
  type TypedDataDefinition,
} from 'viem';
import { HDKey, hdKeyToAccount, toAccount, type LocalAccount } from 'viem/accounts';

/** The demo's mnemonic (anvil's default): public, for test chains only. */
const DEMO_MNEMONIC = 'test test test test test test test test test test test junk';
const STORAGE_KEY = 'energy-signer';

export interface Signer {
  address: Address;
  /** The same signer as a viem account, for the keeper's RelayerClient (never sends transactions). */
  account: LocalAccount;
  kind: 'demo' | 'browser';
  label: string;
  signMessage(message: string): Promise<Hex>;
  signTypedData(td: TypedDataDefinition): Promise<Hex>;
}

export interface DemoHome {
  index: number;
  name: string;
  address: Address;
}

let hd: HDKey | undefined;
const demoKey = () => (hd ??= HDKey.fromMasterSeed(mnemonicToSeedSync(DEMO_MNEMONIC)));

export function demoHomes(firstIndex: number, count: number): DemoHome[] {
  return Array.from({ length: count }, (_, i) => ({
    index: firstIndex + i,
    name: `home-${String(i + 1).padStart(2, '0')}`,
    address: hdKeyToAccount(demoKey(), { addressIndex: firstIndex + i }).address,
  }));
}

export function demoSigner(home: DemoHome): Signer {
  const account = hdKeyToAccount(demoKey(), { addressIndex: home.index });
  return {
    address: account.address,
    account,
    kind: 'demo',
    label: `${home.name} (demo wallet, test key)`,
    signMessage: (message) => account.signMessage({ message }),
    signTypedData: (td) => account.signTypedData(td),
  };
}

export function browserProvider(): EIP1193Provider | undefined {
  return (globalThis as { ethereum?: EIP1193Provider }).ethereum;
}

/** Connects the browser wallet and checks it is on `chainId` (asks it to switch when not). */
export async function browserSigner(chainId: number): Promise<Signer> {
  const provider = browserProvider();
  if (!provider) throw new Error('no browser wallet found (install one, or use a demo wallet on a test chain)');
  const wallet = createWalletClient({ transport: custom(provider) });
  const [address] = await wallet.requestAddresses();
  if (!address) throw new Error('the wallet shared no account');
  const onChain = await wallet.getChainId();
  if (onChain !== chainId) {
    try {
      await provider.request({
        method: 'wallet_switchEthereumChain',
        params: [{ chainId: `0x${chainId.toString(16)}` }],
      });
    } catch {
      throw new Error(`the wallet is on chain ${onChain}; switch it to chain ${chainId}`);
    }
  }
  const signMessage = (message: string) => wallet.signMessage({ account: address, message });
  const signTypedData = (td: TypedDataDefinition) => wallet.signTypedData({ account: address, ...td });
  const account = toAccount({
    address,
    signMessage: ({ message }) => wallet.signMessage({ account: address, message }),
    signTypedData: (td) => signTypedData(td as TypedDataDefinition),
    signTransaction: () => Promise.reject(new Error('the web app never sends transactions')),
  });
  return { address, account, kind: 'browser', label: 'browser wallet', signMessage, signTypedData };
}

/** Remembers which signer the tab uses (the demo home's index, or "browser"); never a key. */
export function rememberSigner(choice: { kind: 'demo'; index: number } | { kind: 'browser' } | null): void {
  if (choice === null) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(choice));
}

export function rememberedSigner(): { kind: 'demo'; index: number } | { kind: 'browser' } | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as { kind: 'demo'; index: number } | { kind: 'browser' }) : null;
  } catch {
    return null;
  }
}
