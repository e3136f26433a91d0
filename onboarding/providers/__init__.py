"""Speech and interviewer providers: local ones that run offline, chosen per provider."""
