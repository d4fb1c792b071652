from prompthooks.main import main

raise SystemExit(main())
