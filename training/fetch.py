"""`python -m training.fetch NAME` in a checkout: the same as `zoo data fetch NAME` (`zoo.fetch`), plus the
maintainers' `mnist-sample` (the package's 1,000 MNIST test digits)."""

from zoo.fetch import FetchError, fetch, main, write_mnist_sample  # noqa: F401  (the command's names)

if __name__ == "__main__":
    raise SystemExit(main())
