"""Git: the one way to start git (the runner, with deadlines and the run lock), its
environment, its credentials, its error words, and the reading of refs and config."""
