"""Entry points, apart from the use cases: the command line (`python -m services.cli`), the
simulator, opening the store at start-up, and the generator of the demo county.

Imports: services, services.store, services.access, services.cases, services.patrol, services.figures, services.mapping, services.screen, services.intake, services.exchange, services.operations, geo
"""
