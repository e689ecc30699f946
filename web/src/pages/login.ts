// Login: Sign-In with Ethereum (EIP-4361). A browser wallet, or on a test chain a demo home's test key.
import { createSiweMessage } from 'viem/siwe';
import { HttpError, call, post, type Me } from '../api.js';
import type { BrowserConfig } from '../config.js';
import type { Page } from '../page.js';
import { errorBox, fill, h } from '../ui.js';
import { browserProvider, browserSigner, demoHomes, demoSigner, rememberSigner, type Signer } from '../wallet.js';

const WORDS: Record<string, string> = {
  NOT_REGISTERED: 'This account is not a registered prosumer of the community, so it cannot sign in.',
  INVALID_SIGNATURE: 'The signature does not belong to this account (or the sign-in message expired). Try again.',
  INVALID_NONCE: 'The sign-in request expired. Try again.',
  WRONG_CHAIN: 'The wallet signed for another chain.',
  WRONG_DOMAIN: 'The message was signed for another site.',
};

async function signIn(config: BrowserConfig, signer: Signer): Promise<Me> {
  const { nonce } = await call<{ nonce: string }>('/api/v1/auth/nonce');
  const message = createSiweMessage({
    address: signer.address,
    chainId: config.chainId,
    domain: location.host,
    uri: location.origin,
    nonce,
    version: '1',
    statement: 'Sign in to the energy community market. This costs nothing and sends no transaction.',
    issuedAt: new Date(),
    expirationTime: new Date(Date.now() + 10 * 60_000),
  });
  const signature = await signer.signMessage(message);
  return post<Me>('/api/v1/auth/login', { message, signature });
}

export function loginPage(config: BrowserConfig, done: (signer: Signer, me: Me) => void): Page {
  const status = h('div', { id: 'login-status', 'aria-live': 'polite' });
  const attempt = async (make: () => Promise<Signer> | Signer, remember: Parameters<typeof rememberSigner>[0]) => {
    fill(status, h('p', { class: 'loading', role: 'status' }, 'Waiting for the signature…'));
    try {
      const signer = await make();
      const me = await signIn(config, signer);
      rememberSigner(remember);
      done(signer, me);
    } catch (error) {
      const text = error instanceof HttpError ? (WORDS[error.code] ?? error.message) : (error as Error).message;
      fill(status, errorBox(`Sign-in failed: ${text}`));
    }
  };

  const wallet = browserProvider();
  const browserPart = h(
    'section',
    { class: 'card', 'aria-labelledby': 'wallet-title' },
    h('h2', { id: 'wallet-title' }, 'Browser wallet'),
    wallet
      ? h(
          'button',
          { type: 'button', onclick: () => void attempt(() => browserSigner(config.chainId), { kind: 'browser' }) },
          'Sign in with your wallet',
        )
      : h('p', {}, 'No browser wallet (EIP-1193) was found in this browser.'),
  );

  let demoPart: HTMLElement | null = null;
  if (config.demoWallets) {
    const homes = demoHomes(config.demoWallets.firstIndex, config.demoWallets.count);
    const select = h(
      'select',
      { id: 'demo-home', name: 'demo-home' },
      ...homes.map((home) => h('option', { value: String(home.index) }, `${home.name} · ${home.address}`)),
    );
    const form = h(
      'form',
      {
        onsubmit: (e: Event) => {
          e.preventDefault();
          const home = homes.find((x) => String(x.index) === select.value);
          if (home) void attempt(() => demoSigner(home), { kind: 'demo', index: home.index });
        },
      },
      h('label', { for: 'demo-home' }, 'Demo home'),
      select,
      h('button', { type: 'submit' }, 'Sign in with the demo wallet'),
    );
    demoPart = h(
      'section',
      { class: 'card test-only', 'aria-labelledby': 'demo-title' },
      h('h2', { id: 'demo-title' }, 'Demo wallet — test keys only'),
      h(
        'p',
        { class: 'warning' },
        "These are the demo homes' publicly known test keys. " +
          'Use them only on a local test chain, never with real funds.',
      ),
      form,
    );
  }

  const el = h(
    'div',
    { class: 'page login' },
    h('h1', {}, 'Sign in'),
    h(
      'p',
      {},
      'Prosumers of the community sign in with their Ethereum account (Sign-In with Ethereum). ' +
        'Signing proves the account is yours; it costs nothing and sends no transaction.',
    ),
    browserPart,
    demoPart,
    status,
  );
  return { el, refresh: async () => undefined };
}
