"""Readers of public hand datasets (NYU, ICVL, FreiHAND, STB, BigHand2.2M) into numpy samples."""
