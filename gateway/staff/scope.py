"""What a staff member may see and do: their role and the part of the scheme below
their unit. Every dashboard query and page takes one of these."""

from __future__ import annotations

from dataclasses import dataclass

from db.values import StaffRole

# The roles as plain words: argparse shows its choices with repr().
ROLES = tuple(role.value for role in StaffRole)


@dataclass(frozen=True)
class Scope:
    role: str
    # `SchemeUnit.path` of the staff member's unit; None: the whole scheme.
    unit_path: str | None

    def covers(self, path: str) -> bool:
        """Whether a unit (by its path) is within this scope."""
        if self.unit_path is None:
            return True
        return path == self.unit_path or path.startswith(self.unit_path + "/")

    @property
    def may_send_campaigns(self) -> bool:
        return self.role in (StaffRole.CENTRAL_ADMIN, StaffRole.MUTUAL_MANAGER)

    @property
    def sees_personal_data(self) -> bool:
        """Full names and phone numbers (household search for support)."""
        return self.role in (StaffRole.CENTRAL_ADMIN, StaffRole.MUTUAL_MANAGER)
