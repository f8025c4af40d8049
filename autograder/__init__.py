"""Instructor-only package of the mlp_optimizers course: reference solution, checks,
numerical gradients and the tools that train, benchmark and grade."""
