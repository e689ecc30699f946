// @p2p-energy/sdk: everything an integrator of the peer-to-peer energy market needs, from one import.
export { energyMarketAbi, energyTokenAbi, prosumerRegistryAbi } from './abi.js';
export { type Deployment, deployments, readDeployment } from './deployments.js';
export { enumName, RejectReason, Side, sideValue, TradeStatus, WindowStatus } from './enums.js';
export { batchHints, type BookNode, computeHints, type HintedOrder } from './hints.js';
export {
  cancelOrder,
  findHint,
  placeOrder,
  readTrade,
  readTrades,
  readWindow,
  readWindowState,
  type SideInput,
  type SigningClient,
  type Trade,
  type WindowState,
  type WindowWithTrades,
} from './market.js';
export {
  readSigningDomains,
  type RelayedStatus,
  RelayerClient,
  RelayerRefusal,
  type SignedOrderFields,
  type SigningDomains,
} from './relayer.js';
export {
  type SignedCancel,
  type SignedOrder,
  type SignedPermit,
  signCancel,
  signOrder,
  signPermit,
  submitSignedOrders,
} from './signing.js';
export {
  type BlockRange,
  blockSpans,
  type MatchedTrade,
  matchedTrades,
  type ProsumerTrade,
  prosumerTrades,
  type SettledTrade,
  settledTrades,
  type Span,
  statements,
  type WindowStatement,
} from './trades.js';
export { CANCEL_TYPES, marketDomain, ORDER_TYPES, PERMIT_TYPES } from './typed-data.js';
