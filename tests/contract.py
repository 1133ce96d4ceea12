"""CONTRACT §1's status state machine, written out by hand for the tests.

Deliberately not read from leads.pipeline: tests compare the code against this copy of the
contract, so a wrong table in the code fails them.
"""

# In pipeline order, as the contract lists them.
ALL_STATUSES = ["new", "contacted", "qualified", "converted", "lost"]

# Every allowed move, copied from the contract's diagram; anything else is refused.
ALLOWED_MOVES = {
    ("new", "contacted"),
    ("new", "qualified"),
    ("new", "converted"),
    ("new", "lost"),
    ("contacted", "qualified"),
    ("contacted", "converted"),
    ("contacted", "lost"),
    ("qualified", "converted"),
    ("qualified", "lost"),
    ("lost", "new"),
}
