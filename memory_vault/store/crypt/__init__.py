"""The encrypted transport: the remote holds age-encrypted git bundles, the clone stays plain."""
