"""Tests of the UOM emulator, over real sockets."""
