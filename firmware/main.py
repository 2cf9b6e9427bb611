# Board entry point. The app is app.py, shipped compiled (.mpy): compiling it from source at boot
# would fragment a small heap. Configuration: config.py (template: boards/common/config_template.py).
import app

app.main()
