"""The product's decisions, Django-free and standard-library only: the rules engine that turns
frame results into flags, the identity statistics (photo and session models, the sequential
test, the roster match) and liveness geometry. Importable and tested alone.
"""
