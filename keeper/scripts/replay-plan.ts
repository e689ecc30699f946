// Turns an export file (docs/auditors.md) into the ABI-encoded plan that test/replay/Replay.t.sol replays.
// Pure re-arrangement: no value is computed here, every expectation comes from the recorded events.
// Usage (through forge's ffi): node --import tsx keeper/scripts/replay-plan.ts <export.json>
import { readFileSync } from 'node:fs';
import { encodeAbiParameters, getAddress, type Address, type Hex } from 'viem';
import { EXPORT_FORMAT, type ExportFile } from '../src/export.js';

const file = process.argv[2];
if (!file) throw new Error('usage: replay-plan.ts <export.json>');
const data = JSON.parse(readFileSync(file, 'utf8')) as ExportFile;
if (data.format !== EXPORT_FORMAT) throw new Error(`${file}: not a ${EXPORT_FORMAT} file`);

const ids = new Map<Address, bigint>();
const windows = data.windows.map((w) => {
  // ID 0: an account that was never registered (named only by a rejected signed order): nothing to register.
  for (const [a, id] of Object.entries(w.prosumerIds)) if (BigInt(id) !== 0n) ids.set(getAddress(a), BigInt(id));
  const ev = (name: string) => w.events.filter((e) => e.name === name);
  // Placements, cancels and rejected signed orders in chain order; a rejection before WindowOpened is marked.
  let opened = false;
  const actions = w.events.flatMap((e) => {
    if (e.name === 'WindowOpened') opened = true;
    const kind = { OrderPlaced: 0, OrderCancelled: 1, SignedOrderRejected: 2 }[e.name];
    if (kind === undefined) return [];
    return [
      {
        kind,
        prosumer: getAddress(e.args.prosumer as string),
        side: Number(e.args.side ?? 0),
        energyWh: BigInt(e.args.energyWh ?? 0),
        price: BigInt(e.args.pricePerKWh ?? 0),
        nonce: BigInt(e.args.nonce ?? 0),
        reason: (e.args.reason ?? '0x00000000') as Hex,
        beforeOpen: kind === 2 && !opened,
      },
    ];
  });
  const readings = ev('MeterReadingSubmitted').map((e) => ({
    prosumer: getAddress(e.args.prosumer as string),
    importWh: BigInt(e.args.importedWh as string),
    exportWh: BigInt(e.args.exportedWh as string),
  }));
  const funds = Object.entries(w.fundsAtSettlement).map(([buyer, f]) => ({
    buyer: getAddress(buyer),
    balance: BigInt(f.balance),
    allowance: BigInt(f.allowance),
  }));
  const settledByIndex = new Map(ev('TradeSettled').map((e) => [String(e.args.tradeIndex), e.args]));
  const trades = ev('TradeMatched').map((e) => {
    const s = settledByIndex.get(String(e.args.tradeIndex));
    return {
      buyer: getAddress(e.args.buyer as string),
      seller: getAddress(e.args.seller as string),
      energyWh: BigInt(e.args.energyWh as string),
      status: Number(s?.status ?? 0),
      reason: Number(s?.reason ?? 0),
      cost: BigInt(s?.cost ?? 0),
    };
  });
  const cleared = ev('WindowCleared')[0]?.args;
  const settled = ev('WindowSettled')[0]?.args;
  return {
    windowId: BigInt(w.windowId),
    opened: ev('WindowOpened').length === 1,
    actions,
    readings,
    funds,
    cleared: cleared !== undefined,
    clearingPrice: BigInt(cleared?.clearingPrice ?? 0),
    clearedEnergyWh: BigInt(cleared?.clearedEnergyWh ?? 0),
    tradeCount: BigInt(cleared?.tradeCount ?? 0),
    trades,
    settled: settled !== undefined,
    acceptedCount: BigInt(settled?.acceptedCount ?? 0),
    rejectedCount: BigInt(settled?.rejectedCount ?? 0),
  };
});

const planType = [
  {
    type: 'tuple',
    components: [
      { name: 'windowDuration', type: 'uint256' },
      { name: 'settlementGrace', type: 'uint256' },
      { name: 'prosumers', type: 'address[]' },
      { name: 'ids', type: 'uint256[]' },
      {
        name: 'windows',
        type: 'tuple[]',
        components: [
          { name: 'windowId', type: 'uint256' },
          { name: 'opened', type: 'bool' },
          {
            name: 'actions',
            type: 'tuple[]',
            components: [
              { name: 'kind', type: 'uint8' },
              { name: 'prosumer', type: 'address' },
              { name: 'side', type: 'uint8' },
              { name: 'energyWh', type: 'uint256' },
              { name: 'price', type: 'uint256' },
              { name: 'nonce', type: 'uint256' },
              { name: 'reason', type: 'bytes4' },
              { name: 'beforeOpen', type: 'bool' },
            ],
          },
          {
            name: 'readings',
            type: 'tuple[]',
            components: [
              { name: 'prosumer', type: 'address' },
              { name: 'importWh', type: 'uint256' },
              { name: 'exportWh', type: 'uint256' },
            ],
          },
          {
            name: 'funds',
            type: 'tuple[]',
            components: [
              { name: 'buyer', type: 'address' },
              { name: 'balance', type: 'uint256' },
              { name: 'allowance', type: 'uint256' },
            ],
          },
          { name: 'cleared', type: 'bool' },
          { name: 'clearingPrice', type: 'uint256' },
          { name: 'clearedEnergyWh', type: 'uint256' },
          { name: 'tradeCount', type: 'uint256' },
          {
            name: 'trades',
            type: 'tuple[]',
            components: [
              { name: 'buyer', type: 'address' },
              { name: 'seller', type: 'address' },
              { name: 'energyWh', type: 'uint256' },
              { name: 'status', type: 'uint8' },
              { name: 'reason', type: 'uint8' },
              { name: 'cost', type: 'uint256' },
            ],
          },
          { name: 'settled', type: 'bool' },
          { name: 'acceptedCount', type: 'uint256' },
          { name: 'rejectedCount', type: 'uint256' },
        ],
      },
    ],
  },
] as const;

process.stdout.write(
  encodeAbiParameters(planType, [
    {
      windowDuration: BigInt(data.windowDuration),
      settlementGrace: BigInt(data.settlementGrace),
      prosumers: [...ids.keys()],
      ids: [...ids.values()],
      windows,
    },
  ]),
);
