"""The advisor: CPT or SFT, how much general data, which method, measured on the user's own data
(docs/advisor.md)."""

from domaintune.advise.advisor import advise, measure
from domaintune.advise.measure import Measurements, MethodFit, TextFigures
from domaintune.advise.recipe import recipe_for, recipe_yaml
from domaintune.advise.rules import Advice, Recommendation, recommend

__all__ = [
    "Advice",
    "Measurements",
    "MethodFit",
    "Recommendation",
    "TextFigures",
    "advise",
    "measure",
    "recipe_for",
    "recipe_yaml",
    "recommend",
]
