from .io import atomic_path, atomic_write_image, atomic_write_json
from .setup_env import register_all_modules, setup_env

__all__ = [
    'atomic_path', 'atomic_write_image', 'atomic_write_json',
    'register_all_modules', 'setup_env'
]
