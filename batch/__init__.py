"""uom-batch: bulk operations on IIJ UOM tickets, with a faithful emulator of the UOM API."""

__version__ = "0.1.0"
