"""Model Selection's view in the address: tab, search, filters and the picked model.

The page's widgets keep their state in ``st.session_state`` under their own keys; this
module copies that state into query parameters after each run (only its own parameters,
so others such as ``layout`` or a sign-in token are left alone) and, on a session's first
visit, back from the address into the widgets' keys, so a shared link opens the same view.
The functions take plain mappings, so they are tested without a browser.

Parameters: ``tab`` (chat, content, image, audio), ``q`` (search), ``providers``
(repeated), ``price`` (free or paid), ``min_context``, ``sort``, ``vision=1`` and
``model=<provider slug>:<model id>`` (its detail panel is open).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Protocol
from urllib.parse import urlencode

from core.types import Capability
from ui.catalog_table import SORTS

TAB_KEY = "capability_tab"
RESTORED = "selection_link_restored"
PRICES = ("All", "Free", "Paid")
OWN = ("tab", "q", "providers", "price", "min_context", "sort", "vision", "model")


class QueryParams(Protocol):
    """What is used of ``st.query_params``."""

    def get_all(self, key: str) -> list[str]: ...
    def __contains__(self, key: object) -> bool: ...
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __delitem__(self, key: str) -> None: ...


def widget_keys(capability: Capability) -> dict[str, str]:
    """Query parameter → the session_state key of its widget, for `capability`'s tab."""
    cap = capability.value
    return {
        "q": f"search_{cap}",
        "providers": f"providers_{cap}",
        "price": f"price_{cap}",
        "min_context": f"ctx_{cap}",
        "sort": f"sort_{cap}",
        "vision": f"vision_{cap}",
        "model": f"picked_{cap}",
    }


def capability_of(tab: str | None) -> Capability:
    """The capability a ``tab`` parameter names (Chat when it names none)."""
    for capability in Capability:
        if tab and tab.lower() == capability.value:
            return capability
    return Capability.CHAT


def restore(params: QueryParams, state: MutableMapping[Any, Any]) -> None:
    """Once per session: the address's view into the widgets' state (invalid values are
    ignored, so a hand-edited link never breaks the page)."""
    if state.get(RESTORED):
        return
    state[RESTORED] = True
    if not any(name in params for name in OWN):
        return
    capability = capability_of(_one(params, "tab"))
    state[TAB_KEY] = capability.value.title()
    keys = widget_keys(capability)
    values = _parsed(params)
    for name, value in values.items():
        state[keys[name]] = value


def _one(params: QueryParams, name: str) -> str | None:
    found = params.get_all(name)
    return found[-1] if found else None


def _parsed(params: QueryParams) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if (q := _one(params, "q")) is not None:
        values["q"] = q
    if providers := params.get_all("providers"):
        values["providers"] = list(providers)
    if (price := (_one(params, "price") or "").title()) in PRICES:
        values["price"] = price
    if (context := _one(params, "min_context") or "").isdigit():
        values["min_context"] = int(context)
    if (sort := _one(params, "sort")) in SORTS:
        values["sort"] = sort
    if _one(params, "vision") == "1":
        values["vision"] = True
    slug, colon, model = (_one(params, "model") or "").partition(":")
    if slug and colon and model:
        values["model"] = (slug, model)
    return values


def current(capability: Capability, state: Mapping[Any, Any]) -> dict[str, str | list[str]]:
    """The address for what `state` shows of `capability`'s tab (defaults left out)."""
    keys = widget_keys(capability)
    wanted: dict[str, str | list[str]] = {"tab": capability.value}
    if search := state.get(keys["q"]):
        wanted["q"] = str(search)
    if providers := state.get(keys["providers"]):
        wanted["providers"] = [str(p) for p in providers]
    if (price := state.get(keys["price"])) in PRICES[1:]:
        wanted["price"] = str(price).lower()
    if context := state.get(keys["min_context"]):
        wanted["min_context"] = str(int(context))
    if (sort := state.get(keys["sort"])) and sort != SORTS[0]:
        wanted["sort"] = str(sort)
    if state.get(keys["vision"]):
        wanted["vision"] = "1"
    if picked := state.get(keys["model"]):
        wanted["model"] = f"{picked[0]}:{picked[1]}"
    return wanted


def publish(params: QueryParams, wanted: Mapping[str, str | list[str]]) -> None:
    """Set this module's parameters to `wanted`, touching only those that change."""
    for name in OWN:
        value = wanted.get(name)
        now = params.get_all(name)
        target = [] if value is None else value if isinstance(value, list) else [value]
        if now == target:
            continue
        if not target:
            del params[name]
        else:
            params[name] = value


def model_link(capability: Capability, slug: str, model_id: str) -> str:
    """A relative link to Model Selection with `model_id` of `slug` open."""
    query = urlencode({"tab": capability.value, "model": f"{slug}:{model_id}"})
    return f"model-selection?{query}"
