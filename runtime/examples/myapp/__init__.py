"""An application using the runtime: the shape of a generated project's job package."""
