-- A manager's shutdown request stays pending (shutdown_requested) until a
-- manager process that was sent it closes its connection on exit: a request
-- made while the manager is disconnected is delivered when it connects, and
-- a manager started again after it stopped as asked serves suites again.
-- shutdown_force: the request (or one of several) was Force, so a request
-- delivered late stops the manager as asked.
ALTER TABLE node_managers ADD COLUMN shutdown_force boolean NOT NULL DEFAULT false;
