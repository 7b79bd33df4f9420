"""A staff member's scope as a SQL condition, for every dashboard query.

    query.join(models.SchemeUnit, models.SchemeUnit.id == models.Household.mutual_id)
         .where(within_scope(staff.scope, models.SchemeUnit.path))

The same rule as `Scope.covers`: the unit itself and every unit below it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from gateway.staff.scope import Scope


def within_scope(
    scope: Scope, path: InstrumentedAttribute[str] | ColumnElement[str]
) -> ColumnElement[bool]:
    if scope.unit_path is None:
        return true()
    return or_(path == scope.unit_path, path.startswith(scope.unit_path + "/", autoescape=True))
