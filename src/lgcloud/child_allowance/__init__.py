"""児童手当 (child allowance): issue 17, item 1. So far its rules and dated parameters."""
