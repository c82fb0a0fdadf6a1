// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title Registry of Gleaner dataset Merkle roots
/// @notice The operator commits each published dataset's Merkle root over its rows once; anyone reads it
/// back and can then check a row's inclusion proof against a root that can no longer change.
// A dataset is identified by its UUID's 16 bytes. The card hash binds the dataset card (README.md), which
// names the root and, through its Croissant metadata, every data file's sha256.
contract DatasetRootRegistry is Ownable {
    /// @notice One committed dataset.
    struct DatasetRoot {
        bytes32 merkleRoot;
        bytes32 cardSha256;
        uint64 rowCount;
        uint64 registeredAt;
    }

    mapping(bytes16 datasetId => DatasetRoot) private _datasets;

    /// @notice The operator committed `datasetId`'s root.
    event DatasetRegistered(bytes16 indexed datasetId, bytes32 merkleRoot, uint64 rowCount, bytes32 cardSha256);

    /// @notice A committed root is final.
    error DatasetAlreadyRegistered(bytes16 datasetId);

    /// @notice Nothing was committed for that dataset.
    error DatasetNotRegistered(bytes16 datasetId);

    /// @notice A dataset needs a non-zero root.
    error EmptyRoot();

    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @notice Commits `datasetId`'s Merkle root, row count and card hash, once.
    function register(bytes16 datasetId, bytes32 merkleRoot, uint64 rowCount, bytes32 cardSha256)
        external
        onlyOwner
    {
        if (merkleRoot == bytes32(0)) revert EmptyRoot();
        if (_datasets[datasetId].merkleRoot != bytes32(0)) revert DatasetAlreadyRegistered(datasetId);
        _datasets[datasetId] = DatasetRoot(merkleRoot, cardSha256, rowCount, uint64(block.timestamp));
        emit DatasetRegistered(datasetId, merkleRoot, rowCount, cardSha256);
    }

    /// @notice What was committed for `datasetId`; reverts when nothing was.
    function datasetOf(bytes16 datasetId) external view returns (DatasetRoot memory) {
        DatasetRoot memory committed = _datasets[datasetId];
        if (committed.merkleRoot == bytes32(0)) revert DatasetNotRegistered(datasetId);
        return committed;
    }

    /// @notice Whether a root was committed for `datasetId`.
    function isRegistered(bytes16 datasetId) external view returns (bool) {
        return _datasets[datasetId].merkleRoot != bytes32(0);
    }
}
