"""Staff as pseudonyms in the API: the deployment's pseudonym (``privacy.pseudonyms``,
the same one alert messages carry), which nobody without the hashing key can map back to
a person. Who is behind a pseudonym is only resolved inside the service (to serve a
timeline) or for an approved unmasking (``app.unmask``)."""

from insiderwatch.app.staff import Roster as Pseudonyms

__all__ = ["Pseudonyms"]
