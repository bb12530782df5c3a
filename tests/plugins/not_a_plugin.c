/* A shared object that is not an ntx plugin: it exports no ntx_plugin_entry. */
int not_a_plugin_answer(void);
int not_a_plugin_answer(void) { return 42; }
