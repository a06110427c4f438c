"""Models: config -> loaded model (loader), tiny seeded builds (tiny, tiny_flux2), cards.

Nothing heavy is imported here, so `sentinel.models.cards` reads markdown without torch;
`sentinel.models.loader` builds pipelines and API adapters."""
