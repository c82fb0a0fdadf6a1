// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice FOR TESTS ONLY, never deployed by the app: the smallest ERC-1271 smart-contract wallet, whose
/// signatures are its owner key's signatures of the hash. Lets server tests sign in as a contract wallet.
contract OwnerSmartWallet is IERC1271 {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        // tryRecover, not recover: a malformed signature is simply not the owner's, it should not revert.
        (address signer, ECDSA.RecoverError recoverError, ) = ECDSA.tryRecover(hash, signature);
        if (recoverError == ECDSA.RecoverError.NoError && signer == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }
}

/// @notice FOR TESTS ONLY: deploys OwnerSmartWallets at CREATE2 addresses known in advance, so a test can sign
/// for a wallet not deployed yet (an EIP-6492 signature carries this factory and its deploy call).
contract OwnerSmartWalletFactory {
    function deploy(address owner, bytes32 salt) external returns (address) {
        return address(new OwnerSmartWallet{salt: salt}(owner));
    }

    function addressOf(address owner, bytes32 salt) external view returns (address) {
        bytes32 codeHash = keccak256(abi.encodePacked(type(OwnerSmartWallet).creationCode, abi.encode(owner)));
        return Create2.computeAddress(salt, codeHash);
    }
}
