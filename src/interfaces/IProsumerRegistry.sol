// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IProsumerRegistry
/// @notice Members of the energy community and their assets.
/// @dev A prosumer ID is bound to one account forever: deregistration ends the membership, not the binding,
/// so trades of past windows stay attributable and an ID can never be taken over by another account.
interface IProsumerRegistry {
    /// @notice A battery: maximum charge/discharge power and usable capacity.
    struct Battery {
        uint64 powerW;
        uint64 capacityWh;
    }

    /// @notice A photovoltaic system: peak power.
    struct PvSystem {
        uint64 peakPowerW;
    }

    event ProsumerRegistered(address indexed account, uint256 indexed prosumerId);
    event ProsumerDeregistered(address indexed account, uint256 indexed prosumerId);
    event BatteryAdded(address indexed account, uint256 index, uint256 powerW, uint256 capacityWh);
    event BatteryRemoved(address indexed account, uint256 index);
    event PvSystemAdded(address indexed account, uint256 index, uint256 peakPowerW);
    event PvSystemRemoved(address indexed account, uint256 index);

    error ZeroAddress();
    error InvalidProsumerId(uint256 prosumerId);
    error AlreadyRegistered(address account);
    error NotRegistered(address account);
    error ProsumerIdTaken(uint256 prosumerId, address holder);
    error AccountBoundToOtherId(address account, uint256 boundId);
    error InvalidAsset();
    error AssetValueOutOfRange(uint256 value);
    error TooManyAssets(address account, uint256 max);
    error AssetIndexOutOfRange(address account, uint256 index, uint256 length);

    /// @notice Registers `account` as a member with `prosumerId` (1 ..= 2^32-1). Registrar only.
    /// @dev Re-registering a deregistered account is allowed with the ID it held before.
    function register(address account, uint256 prosumerId) external;

    /// @notice Ends the membership of `account`. Registrar only.
    /// @dev Orders already placed stay in their windows and settle normally. The assets are kept (the registrar
    /// may remove them explicitly): the meter readings of windows the prosumer traded in are checked against
    /// them, and a returning member gets them back.
    function deregister(address account) external;

    /// @notice Adds a battery to a registered prosumer. Registrar only.
    /// @return index Position of the battery in `batteriesOf(account)`.
    function addBattery(address account, uint256 powerW, uint256 capacityWh) external returns (uint256 index);

    /// @notice Removes the battery at `index` (the last one takes its place). Registrar only.
    function removeBattery(address account, uint256 index) external;

    /// @notice Adds a PV system to a registered prosumer. Registrar only.
    /// @return index Position of the system in `pvSystemsOf(account)`.
    function addPvSystem(address account, uint256 peakPowerW) external returns (uint256 index);

    /// @notice Removes the PV system at `index` (the last one takes its place). Registrar only.
    function removePvSystem(address account, uint256 index) external;

    /// @notice Whether `account` is a current member.
    function isRegistered(address account) external view returns (bool);

    /// @notice The ID bound to `account` (kept after deregistration), 0 if it never registered.
    function prosumerIdOf(address account) external view returns (uint256);

    /// @notice The ID bound to `account` and whether it is a current member, in one call.
    function registrationOf(address account) external view returns (uint256 prosumerId, bool registered);

    /// @notice `registrationOf(account)` and the ID bound to `other` (0 for address(0), whose record is not
    /// read), in one call: what the market's `placeOrder` needs about its sender and its hint.
    function registrationAndIdOf(address account, address other)
        external
        view
        returns (uint256 prosumerId, bool registered, uint256 otherId);

    /// @notice The account bound to `prosumerId` (kept after deregistration), address(0) if none.
    function accountOf(uint256 prosumerId) external view returns (address);

    /// @notice The accounts bound to two IDs in one call (the market's buyer and seller of a trade).
    function accountsOf(uint256 firstId, uint256 secondId)
        external
        view
        returns (address first, address second);

    /// @notice Batteries of `account`.
    function batteriesOf(address account) external view returns (Battery[] memory);

    /// @notice PV systems of `account`.
    function pvSystemsOf(address account) external view returns (PvSystem[] memory);

    /// @notice Sums over the assets of `account`, for plausibility checks of meter readings.
    function assetTotalsOf(address account)
        external
        view
        returns (uint256 pvPeakPowerW, uint256 batteryPowerW, uint256 batteryCapacityWh);
}
