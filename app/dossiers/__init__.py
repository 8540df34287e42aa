"""One-stop domain: catalogue, units, dossiers around process instances, their lifecycle and views."""
