"""What an application imports: ``load`` a verified prompt version, and the errors it raises.

Depends on hashing, the lock reader and the shared contract only; mlflow and Jinja2 are
imported when a call needs them, never by importing this package.
"""

from prompthooks.runtime.errors import PromptFormatError, PromptIntegrityError, PromptUnavailableError
from prompthooks.runtime.loader import load
from prompthooks.runtime.prompt import Prompt

__all__ = ["Prompt", "PromptFormatError", "PromptIntegrityError", "PromptUnavailableError", "load"]
