"""Synthetic, seeded data with the shape of Ningbo's grid governance: places, people,
departments, categories and policies as reference events, then visits and case lifecycles."""
