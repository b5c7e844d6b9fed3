"""Provider modules; `registry.discover()` finds them all.

Glossary (one word per thing):

- **provider class** (``BaseProvider`` subclass: ``OpenRouterProvider``, ``GroqProvider``,
  ``HuggingFaceProvider``, ``OpenAICompatibleProvider``, a plug-in's): *which API shape*.
  Its ``slug`` and ``display_name`` name the built-in provider it describes.
- **endpoint** (:class:`~core.providers.base.Endpoint`, frozen): *which endpoint*: the slug
  and display name it is called by, base URL, idle timeout, limits, the shared
  ``httpx.Client`` and declared models. Keys are not in it: each call takes its key.
- **provider** (an instance): a provider class on an endpoint, what makes the calls
  (``DeskContext.provider_for(row)``; ``Cls.at(client, ...)`` on the class's own endpoint).
- **listing** (:class:`~core.providers.base.Listing`): what one model listing returned,
  the models with the server's flavour and source; stored on ``CatalogEntry``.
- **provider row** (``AIProvider``, ``core/tables.py``): the configuration of one provider.
- **connection**: a provider row an admin added (``config.kind`` ``openai-compatible``),
  served by its kind's provider class on the row's own endpoint.
- **provider view** (``ProviderView``): what the Providers page shows of a row.
- ``ProviderError.provider`` is a display name; ``CallInfo.slug`` is the row's slug and
  ``CallInfo.display_name`` its name.
"""
