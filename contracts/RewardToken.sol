// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title Gleaner reward token
/// @notice A plain ERC-20 that only its owner (the operator) can mint.
// The operator mints each epoch's pool straight into the distributor when it publishes the epoch, so the
// total supply is the sum of the published pools (checkable against the public epoch files) and the
// distributor itself holds no right to mint: a fault in it can never create tokens beyond what was published.
contract RewardToken is ERC20, Ownable {
    constructor(string memory name_, string memory symbol_, address initialOwner)
        ERC20(name_, symbol_)
        Ownable(initialOwner)
    {}

    /// @notice Creates `amount` tokens for `to`; only the owner may.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
