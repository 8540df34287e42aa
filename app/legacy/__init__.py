"""Import of dossiers from the two former systems (Hải Phòng, Hải Dương)."""
