"""Domain: schemas, the model contract and pure logic. Imports nothing else of usine."""
