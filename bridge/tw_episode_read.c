/* placeholder: implemented in its issue */
