from .io import atomic_path, atomic_write_image, atomic_write_json

__all__ = ['atomic_path', 'atomic_write_image', 'atomic_write_json']
