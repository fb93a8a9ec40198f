"""Model-layer upkeep that every save path must get, whoever saves."""
