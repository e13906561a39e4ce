"""Static analysis of package archives and names. Nothing here executes package code."""
