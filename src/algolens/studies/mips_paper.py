"""The paper's per-task results (Michaud et al. 2024, Table of the 62 tasks): 1 = solved.

Taken from ../shared/specs/mips.md (the MIPS column carries one unit of doubt between Sum_All,
Sum_Last4 and Parity_Bits_Mod2). The spec's rows 32-34 lost their last columns to table pipes;
they are reconstructed from its totals (GPT-4 30, MIPS 32, 13 MIPS-only, union 43), which force
Abs_Diff (0, 1), Abs_Current (1, 1), Diff_Abs_Values (1, 0). Keys follow the paper's order.
"""

from __future__ import annotations

# name: (GPT-4, MIPS)
PAPER: dict[str, tuple[int, int]] = {
    "Binary_Addition": (0, 1), "Base_3_Addition": (0, 0), "Base_4_Addition": (0, 0),
    "Base_5_Addition": (0, 0), "Base_6_Addition": (1, 0), "Base_7_Addition": (0, 0),
    "Bitwise_Xor": (1, 1), "Bitwise_Or": (1, 1), "Bitwise_And": (1, 1), "Bitwise_Not": (1, 1),
    "Parity_Last2": (1, 1), "Parity_Last3": (0, 1), "Parity_Last4": (0, 0), "Parity_All": (0, 1),
    "Parity_Zeros": (0, 1), "Evens_Counter": (0, 0), "Sum_All": (1, 1), "Sum_Last2": (0, 1),
    "Sum_Last3": (0, 1), "Sum_Last4": (1, 1), "Sum_Last5": (1, 1), "Sum_Last6": (1, 1),
    "Sum_Last7": (1, 1), "Current_Number": (1, 1), "Prev1": (1, 1), "Prev2": (1, 1),
    "Prev3": (1, 1), "Prev4": (1, 1), "Prev5": (1, 1), "Previous_Equals_Current": (0, 1),
    "Diff_Last2": (0, 1), "Abs_Diff": (0, 1), "Abs_Current": (1, 1), "Diff_Abs_Values": (1, 0),
    "Min_Seen": (1, 0), "Max_Seen": (1, 0), "Majority_0_1": (1, 0), "Majority_0_2": (0, 0),
    "Majority_0_3": (0, 0), "Evens_Detector": (1, 0), "Perfect_Square_Detector": (0, 0),
    "Bit_Palindrome": (1, 0), "Balanced_Parenthesis": (0, 0), "Parity_Bits_Mod2": (1, 0),
    "Alternating_Last3": (0, 0), "Alternating_Last4": (1, 0), "Bit_Shift_Right": (1, 1),
    "Bit_Dot_Prod_Mod2": (0, 1), "Div_3": (1, 0), "Div_5": (0, 0), "Div_7": (0, 0),
    "Add_Mod_3": (1, 1), "Add_Mod_4": (0, 0), "Add_Mod_5": (0, 0), "Add_Mod_6": (0, 0),
    "Add_Mod_7": (0, 0), "Add_Mod_8": (0, 0), "Dithering": (1, 0), "Newton_Freebody": (0, 1),
    "Newton_Gravity": (0, 1), "Newton_Spring": (0, 1), "Newton_Magnetic": (0, 0),
}


def paper_columns(name: str) -> tuple[int | None, int | None]:
    """(GPT-4, MIPS) for a benchmark task; (None, None) for a user task."""
    return PAPER.get(name, (None, None))
