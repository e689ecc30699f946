// The app shell: configuration, the chain watch, the session, the header, the chain banner and the router.
import './style.css';
import { HttpError, data, post, type Me } from './api.js';
import { ChainWatch } from './chain.js';
import { loadConfig, type BrowserConfig } from './config.js';
import { MarketReads } from './market.js';
import { Relay } from './orders.js';
import { serial, type Ctx, type Page } from './page.js';
import { historicalPage } from './pages/historical.js';
import { homePage } from './pages/home.js';
import { loginPage } from './pages/login.js';
import { marketplacePage } from './pages/marketplace.js';
import { walletPage } from './pages/wallet.js';
import { errorBox, fill, h } from './ui.js';
import { browserSigner, demoHomes, demoSigner, rememberSigner, rememberedSigner, type Signer } from './wallet.js';

const ROUTES = {
  home: { title: 'Home', make: homePage },
  historical: { title: 'Historical', make: historicalPage },
  marketplace: { title: 'Marketplace', make: marketplacePage },
  wallet: { title: 'Wallet', make: walletPage },
} as const;
type Route = keyof typeof ROUTES;

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const account = document.getElementById('account') as HTMLElement;
const banner = document.getElementById('banner') as HTMLElement;

let page: Page | undefined;
let refresh: (() => Promise<void>) | undefined;
let me: Me | undefined;
let signer: Signer | undefined;

function route(): Route | 'login' {
  const name = location.hash.replace(/^#\/?/, '');
  return name in ROUTES ? (name as Route) : name === 'login' ? 'login' : 'home';
}

function showBanner(watch: ChainWatch): void {
  const s = watch.state;
  const rpc = watch.config.rpcUrl;
  if (s.kind === 'ok') return fill(banner);
  banner.className = `banner ${s.kind === 'connecting' ? 'info' : 'bad'}`;
  if (s.kind === 'connecting') fill(banner, `Connecting to the chain at ${rpc}…`);
  else if (s.kind === 'unreachable') {
    fill(
      banner,
      h('strong', {}, 'The chain is unreachable. '),
      `No answer from ${rpc}; the figures shown may be out of date. `,
      'Retrying every second.',
    );
  } else {
    fill(
      banner,
      h('strong', {}, 'Wrong chain. '),
      `${rpc} serves chain ${s.actual}; this market is on chain ${watch.config.chainId}.`,
    );
  }
}

function header(current: Route | 'login', onLogout: () => void): void {
  if (!me) {
    fill(nav);
    fill(account);
    return;
  }
  fill(
    nav,
    h(
      'ul',
      {},
      ...Object.entries(ROUTES).map(([name, r]) =>
        h('li', {}, h('a', { href: `#/${name}`, 'aria-current': name === current ? 'page' : undefined }, r.title)),
      ),
    ),
  );
  fill(
    account,
    h('span', { class: 'who', title: me.address }, `Prosumer #${me.prosumerId}`),
    h('button', { type: 'button', class: 'secondary', onclick: onLogout }, 'Log out'),
  );
}

async function restoreSigner(config: BrowserConfig, address: string): Promise<Signer> {
  if (signer && signer.address === address) return signer;
  const choice = rememberedSigner();
  if (choice?.kind === 'demo' && config.demoWallets) {
    const home = demoHomes(choice.index, 1)[0];
    if (home && home.address === address) return (signer = demoSigner({ ...home, name: `home #${choice.index}` }));
  }
  const s = await browserSigner(config.chainId);
  if (s.address !== address) throw new Error(`the wallet's account ${s.address} is not the one signed in (${address})`);
  return (signer = s);
}

async function start(): Promise<void> {
  let config: BrowserConfig;
  try {
    config = await loadConfig();
  } catch (error) {
    fill(main, errorBox(`The web server cannot be reached: ${(error as Error).message}`));
    return;
  }
  const watch = new ChainWatch(config);
  const reads = new MarketReads(watch);
  const relay = new Relay(config.relayer, reads, watch);
  watch.subscribe(() => {
    showBanner(watch);
    if (watch.ok) void refresh?.().catch(() => undefined);
  });
  showBanner(watch);
  watch.start();
  try {
    me = await data.me();
  } catch (error) {
    if (!(error instanceof HttpError) || error.status !== 401) {
      fill(main, errorBox(`The web server cannot be reached: ${(error as Error).message}`));
      return;
    }
  }

  const logout = async () => {
    await post('/api/v1/auth/logout', {}).catch(() => undefined);
    me = undefined;
    signer = undefined;
    rememberSigner(null);
    location.hash = '#/login';
  };

  const render = () => {
    page?.dispose?.();
    page = undefined;
    refresh = undefined;
    const r = route();
    header(r, () => void logout());
    if (!me || r === 'login') {
      if (me && r === 'login') return void (location.hash = '#/home');
      if (r !== 'login') return void (location.hash = '#/login');
      document.title = 'Sign in · Energy community market';
      page = loginPage(config, (s, who) => {
        signer = s;
        me = who;
        location.hash = '#/home';
      });
    } else {
      const ctx: Ctx = { config, watch, reads, relay, me, signer: () => restoreSigner(config, (me as Me).address) };
      document.title = `${ROUTES[r].title} · Energy community market`;
      page = ROUTES[r].make(ctx);
    }
    fill(main, page.el);
    main.focus({ preventScroll: true });
    refresh = serial(page.refresh.bind(page));
    if (watch.ok || r === 'login') void refresh().catch(() => undefined);
  };
  window.addEventListener('hashchange', render);
  // The session ended (expired, or the server restarted): back to the login page.
  window.addEventListener('session-expired', () => {
    if (!me) return;
    me = undefined;
    signer = undefined;
    location.hash = '#/login';
  });
  render();
}

void start();
