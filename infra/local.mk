# infra/local.mk — `make dist`: the release tarball
# (build/dist/kin-VERSION-COMMIT.tar.gz and .sha256) that CI publishes and
# the pipeline hosts install; infra/dist/mkdist says how it stays
# byte-for-byte reproducible. DIST_DIR=DIR puts it elsewhere.
DIST_DIR ?= build/dist

.PHONY: dist
dist: all
	$(say) DIST $(DIST_DIR)
	$(Q)infra/dist/mkdist --version '$(VERSION)' --out '$(DIST_DIR)'
