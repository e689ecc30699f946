// A buy placed directly, a sell signed by the household and submitted by an operator, then the window's result.
// Settings: RPC_URL, DEPLOYMENT_FILE (deployments/<chainId>.json), BUYER_KEY, SELLER_KEY, OPERATOR_KEY.
import {
  energyMarketAbi,
  placeOrder,
  prosumerTrades,
  readWindow,
  readWindowState,
  signOrder,
  statements,
  submitSignedOrders,
} from '@p2p-energy/sdk';
import { loadDeployment } from '@p2p-energy/sdk/node';
import { createPublicClient, createWalletClient, defineChain, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const rpcUrl = setting('RPC_URL');
const deployment = await loadDeployment(setting('DEPLOYMENT_FILE'));
const { market } = deployment;
const chain = defineChain({
  id: deployment.chainId,
  name: `chain ${deployment.chainId}`,
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [rpcUrl] } },
});
const publicClient = createPublicClient({ chain, transport: http(rpcUrl) });
const wallet = (key: string) =>
  createWalletClient({ chain, transport: http(rpcUrl), account: privateKeyToAccount(key as Hex) });
const buyer = wallet(setting('BUYER_KEY'));
const seller = wallet(setting('SELLER_KEY'));
const operator = wallet(setting('OPERATOR_KEY'));
const TOKEN = 10n ** 18n;

// Both prosumers are registered, the buyer holds tokens and gave the market an allowance, the window is open.
const windowId = await publicClient.readContract({
  address: market,
  abi: energyMarketAbi,
  functionName: 'currentWindow',
});

// 2 kWh at up to 25 tokens/kWh, sent by the buyer (the hint is looked up with findHint).
const buy = await placeOrder(buyer, publicClient, market, {
  windowId,
  side: 'Buy',
  energyWh: 2000n,
  pricePerKWh: 25n * TOKEN,
});
await publicClient.waitForTransactionReceipt({ hash: buy });

// 1.5 kWh at 20 tokens/kWh or more, signed by the seller (no ether needed) and submitted by the operator.
const sell = await signOrder(seller, publicClient, market, {
  windowId,
  side: 'Sell',
  energyWh: 1500n,
  pricePerKWh: 20n * TOKEN,
});
const relayed = await submitSignedOrders(operator, publicClient, market, [sell]);
await publicClient.waitForTransactionReceipt({ hash: relayed });
console.log(JSON.stringify({ placed: windowId.toString() }));

// Anyone closes the window after its hour and settles it once the meter readings are in (the keeper does both).
while ((await readWindowState(publicClient, market, windowId)).status !== 'Settled') {
  await new Promise((resolve) => setTimeout(resolve, 200));
}

const range = { fromBlock: BigInt(deployment.startBlock) };
const report = {
  window: await readWindow(publicClient, market, windowId),
  buyerTrades: await prosumerTrades(publicClient, market, buyer.account.address, range),
  sellerStatements: await statements(publicClient, market, seller.account.address, range),
};
console.log(JSON.stringify(report, (_, value) => (typeof value === 'bigint' ? value.toString() : value)));
