"""Renderers: each module turns the one result object (rse_adoption.model) into one output
format and never queries the store nor computes a figure; registry.py says which renderer
serves each command and format."""
