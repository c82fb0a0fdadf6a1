// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title Cumulative Merkle distributor for Gleaner reward epochs
/// @notice Each epoch the owner publishes one Merkle root over (account, cumulative amount) pairs and the
/// content id of the public epoch file the root was built from. An account claims its latest cumulative
/// amount and receives the difference to what it has already claimed, so it never needs old epochs' proofs.
// Leaves use OpenZeppelin's StandardMerkleTree encoding for the types (address, uint256):
// keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount)))), with sorted pairs.
contract CumulativeMerkleDistributor is Ownable {
    using SafeERC20 for IERC20;

    /// @notice What the owner published for one epoch.
    struct Epoch {
        bytes32 root;
        string contentId;
    }

    /// @notice The token paid out; the owner funds this contract with it.
    IERC20 public immutable token;

    /// @notice The latest published epoch number (0 before the first one).
    uint256 public currentEpoch;

    /// @notice The Merkle root claims are checked against: the latest epoch's.
    bytes32 public merkleRoot;

    /// @notice How much each account has claimed in total.
    mapping(address account => uint256 amount) public claimed;

    mapping(uint256 epoch => Epoch) private _epochs;

    /// @notice The owner published `epoch` with its root and the content id of its epoch file.
    event EpochSet(uint256 indexed epoch, bytes32 root, string contentId);

    /// @notice `account` received `amount`, bringing its total claimed to `cumulativeAmount`.
    event Claimed(address indexed account, uint256 indexed epoch, uint256 amount, uint256 cumulativeAmount);

    /// @notice A new epoch must be numbered above the current one.
    error EpochNotIncreasing(uint256 epoch, uint256 currentEpoch);

    /// @notice An epoch needs a non-zero root.
    error EmptyRoot();

    /// @notice An epoch needs the content id of its public file.
    error EmptyContentId();

    /// @notice The proof does not lead from (account, cumulativeAmount) to the current root.
    error InvalidProof();

    /// @notice The account has already claimed `cumulativeAmount` or more.
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 alreadyClaimed);

    /// @notice No epoch has that number.
    error UnknownEpoch(uint256 epoch);

    constructor(IERC20 token_, address initialOwner) Ownable(initialOwner) {
        token = token_;
    }

    /// @notice Publishes `epoch`'s root and epoch file content id; claims check against it from now on.
    function setEpoch(uint256 epoch, bytes32 root, string calldata contentId) external onlyOwner {
        if (epoch <= currentEpoch) revert EpochNotIncreasing(epoch, currentEpoch);
        if (root == bytes32(0)) revert EmptyRoot();
        if (bytes(contentId).length == 0) revert EmptyContentId();
        currentEpoch = epoch;
        merkleRoot = root;
        _epochs[epoch] = Epoch(root, contentId);
        emit EpochSet(epoch, root, contentId);
    }

    /// @notice Pays `account` its `cumulativeAmount` minus what it has already claimed. Anyone may send
    /// the transaction; the tokens always go to `account`.
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        if (!MerkleProof.verifyCalldata(proof, merkleRoot, leaf)) revert InvalidProof();

        uint256 alreadyClaimed = claimed[account];
        if (cumulativeAmount <= alreadyClaimed) revert NothingToClaim(account, cumulativeAmount, alreadyClaimed);

        // Record before paying so a token that calls back cannot claim the same amount twice.
        claimed[account] = cumulativeAmount;
        uint256 amount = cumulativeAmount - alreadyClaimed;
        token.safeTransfer(account, amount);
        emit Claimed(account, currentEpoch, amount, cumulativeAmount);
    }

    /// @notice The root and epoch file content id published for `epoch`.
    function epochOf(uint256 epoch) external view returns (Epoch memory) {
        Epoch memory published = _epochs[epoch];
        if (published.root == bytes32(0)) revert UnknownEpoch(epoch);
        return published;
    }

    /// @notice The content id of the latest epoch's file (empty before the first epoch).
    function currentContentId() external view returns (string memory) {
        return _epochs[currentEpoch].contentId;
    }
}
