"""What an application imports: ``load`` a verified prompt version, and the errors it raises.

May import hashing, the lock reader, the prompt file reader, the shared contract and
``registry.stored``; never the CLI, the hook's planning, GitPython, or the registry's write side
(a test states these rules).  mlflow and Jinja2 are imported when a call needs them, never by
importing this package.
"""

from prompthooks.runtime.errors import PromptFormatError, PromptIntegrityError, PromptUnavailableError
from prompthooks.runtime.loader import load
from prompthooks.runtime.prompt import Prompt

__all__ = ["Prompt", "PromptFormatError", "PromptIntegrityError", "PromptUnavailableError", "load"]
