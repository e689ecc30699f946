// A typed public client on the fixture's anvil (the fixture's own client is not bound to a chain type).
import { createPublicClient, http, type Chain, type PublicClient, type Transport } from 'viem';
import { makeChain } from '../src/chain.js';
import type { Fixture } from './fixture.js';

export function chainClient(f: Fixture): PublicClient<Transport, Chain> {
  return createPublicClient({ chain: makeChain(f.anvil.chainId, f.anvil.url), transport: http(f.anvil.url) });
}
