"""Quantity traits of the toy simulation."""

from ctapipe.core.traits import AstroQuantity

__all__ = ["UnitQuantity"]


class UnitQuantity(AstroQuantity):
    """An `AstroQuantity` that also takes a bare number, read in the unit of its default.

    ``--run-duration 40`` then means 40 s and ``--run-duration "10 min"`` still works.
    """

    def validate(self, obj, value):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = value * self.default_value.unit
        return super().validate(obj, value)
