"""Short-drama work on imported episodes: scene cuts, loudness, dialogue scores, highlight
segments and an LLM story arc."""
