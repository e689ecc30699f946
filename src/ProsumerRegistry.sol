// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProsumerRegistry} from "./interfaces/IProsumerRegistry.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title ProsumerRegistry
/// @notice Members of the energy community, their permanent prosumer IDs and their assets.
contract ProsumerRegistry is IProsumerRegistry, AccessControl {
    /// @notice Role allowed to register and deregister prosumers and to edit their assets.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Largest prosumer ID (the market keys its order book by 32-bit IDs).
    uint256 public constant MAX_PROSUMER_ID = type(uint32).max;
    /// @notice Largest number of batteries, and of PV systems, per prosumer.
    uint256 public constant MAX_ASSETS_PER_KIND = 16;

    struct Record {
        uint32 prosumerId;
        bool registered;
    }

    mapping(address account => Record) private _records;
    mapping(uint256 prosumerId => address) private _accounts;
    mapping(address account => Battery[]) private _batteries;
    mapping(address account => PvSystem[]) private _pvSystems;

    /// @param admin Receives the admin and registrar roles.
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, admin);
    }

    /// @inheritdoc IProsumerRegistry
    function register(address account, uint256 prosumerId) external onlyRole(REGISTRAR_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        if (prosumerId == 0 || prosumerId > MAX_PROSUMER_ID) revert InvalidProsumerId(prosumerId);
        Record memory record = _records[account];
        if (record.registered) revert AlreadyRegistered(account);
        if (record.prosumerId != 0 && record.prosumerId != prosumerId) {
            revert AccountBoundToOtherId(account, record.prosumerId);
        }
        address holder = _accounts[prosumerId];
        if (holder != address(0) && holder != account) revert ProsumerIdTaken(prosumerId, holder);

        _records[account] = Record({prosumerId: uint32(prosumerId), registered: true});
        _accounts[prosumerId] = account;
        emit ProsumerRegistered(account, prosumerId);
    }

    /// @inheritdoc IProsumerRegistry
    function deregister(address account) external onlyRole(REGISTRAR_ROLE) {
        Record storage record = _requireRegistered(account);
        record.registered = false;
        emit ProsumerDeregistered(account, record.prosumerId);
    }

    /// @inheritdoc IProsumerRegistry
    function addBattery(address account, uint256 powerW, uint256 capacityWh)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint256 index)
    {
        _requireRegistered(account);
        if (powerW == 0 || capacityWh == 0) revert InvalidAsset();
        Battery[] storage batteries = _batteries[account];
        index = batteries.length;
        if (index == MAX_ASSETS_PER_KIND) revert TooManyAssets(account, MAX_ASSETS_PER_KIND);
        batteries.push(Battery({powerW: _toUint64(powerW), capacityWh: _toUint64(capacityWh)}));
        emit BatteryAdded(account, index, powerW, capacityWh);
    }

    /// @inheritdoc IProsumerRegistry
    function removeBattery(address account, uint256 index) external onlyRole(REGISTRAR_ROLE) {
        Battery[] storage batteries = _batteries[account];
        uint256 length = batteries.length;
        if (index >= length) revert AssetIndexOutOfRange(account, index, length);
        batteries[index] = batteries[length - 1];
        batteries.pop();
        emit BatteryRemoved(account, index);
    }

    /// @inheritdoc IProsumerRegistry
    function addPvSystem(address account, uint256 peakPowerW)
        external
        onlyRole(REGISTRAR_ROLE)
        returns (uint256 index)
    {
        _requireRegistered(account);
        if (peakPowerW == 0) revert InvalidAsset();
        PvSystem[] storage systems = _pvSystems[account];
        index = systems.length;
        if (index == MAX_ASSETS_PER_KIND) revert TooManyAssets(account, MAX_ASSETS_PER_KIND);
        systems.push(PvSystem({peakPowerW: _toUint64(peakPowerW)}));
        emit PvSystemAdded(account, index, peakPowerW);
    }

    /// @inheritdoc IProsumerRegistry
    function removePvSystem(address account, uint256 index) external onlyRole(REGISTRAR_ROLE) {
        PvSystem[] storage systems = _pvSystems[account];
        uint256 length = systems.length;
        if (index >= length) revert AssetIndexOutOfRange(account, index, length);
        systems[index] = systems[length - 1];
        systems.pop();
        emit PvSystemRemoved(account, index);
    }

    /// @inheritdoc IProsumerRegistry
    function isRegistered(address account) external view returns (bool) {
        return _records[account].registered;
    }

    /// @inheritdoc IProsumerRegistry
    function prosumerIdOf(address account) external view returns (uint256) {
        return _records[account].prosumerId;
    }

    /// @inheritdoc IProsumerRegistry
    function registrationOf(address account) external view returns (uint256 prosumerId, bool registered) {
        Record memory record = _records[account];
        return (record.prosumerId, record.registered);
    }

    /// @inheritdoc IProsumerRegistry
    function registrationAndIdOf(address account, address other)
        external
        view
        returns (uint256 prosumerId, bool registered, uint256 otherId)
    {
        // On the market's `placeOrder` path: each record is read as one word (`Record` packing: ID in the low 32
        // bits, the flag above it).
        Record storage record = _records[account];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(record.slot)
        }
        prosumerId = uint32(word);
        registered = (word >> 32) & 0xff != 0;
        if (other != address(0)) otherId = _records[other].prosumerId;
    }

    /// @inheritdoc IProsumerRegistry
    function accountOf(uint256 prosumerId) external view returns (address) {
        return _accounts[prosumerId];
    }

    /// @inheritdoc IProsumerRegistry
    function accountsOf(uint256 firstId, uint256 secondId)
        external
        view
        returns (address first, address second)
    {
        // The market calls this once per trade when it clears and settles: two mapping reads, nothing else.
        assembly ("memory-safe") {
            mstore(0, firstId)
            mstore(32, _accounts.slot)
            first := sload(keccak256(0, 64))
            mstore(0, secondId)
            second := sload(keccak256(0, 64))
        }
    }

    /// @inheritdoc IProsumerRegistry
    function batteriesOf(address account) external view returns (Battery[] memory) {
        return _batteries[account];
    }

    /// @inheritdoc IProsumerRegistry
    function pvSystemsOf(address account) external view returns (PvSystem[] memory) {
        return _pvSystems[account];
    }

    /// @inheritdoc IProsumerRegistry
    function assetTotalsOf(address account)
        external
        view
        returns (uint256 pvPeakPowerW, uint256 batteryPowerW, uint256 batteryCapacityWh)
    {
        PvSystem[] storage systems = _pvSystems[account];
        for (uint256 i; i < systems.length; ++i) {
            pvPeakPowerW += systems[i].peakPowerW;
        }
        Battery[] storage batteries = _batteries[account];
        for (uint256 i; i < batteries.length; ++i) {
            batteryPowerW += batteries[i].powerW;
            batteryCapacityWh += batteries[i].capacityWh;
        }
    }

    function _requireRegistered(address account) private view returns (Record storage record) {
        record = _records[account];
        if (!record.registered) revert NotRegistered(account);
    }

    function _toUint64(uint256 value) private pure returns (uint64) {
        if (value > type(uint64).max) revert AssetValueOutOfRange(value);
        return uint64(value);
    }
}
