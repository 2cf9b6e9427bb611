# The nRF51 TIMER-backed `time` module: only for the qemu port (tools/runtimes/build.sh).
ifeq ($(QEMU_ARCH),arm)
SRC_USERMOD_C += $(USERMOD_DIR)/modtime_m0.c
endif
